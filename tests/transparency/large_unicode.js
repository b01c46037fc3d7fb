// Multi-byte characters in one large write.
process.stdout.write("\u00e9\u20ac\u{1f600}".repeat(30000) + "\n");
console.log(require("path").basename(__filename), process.argv.length);
