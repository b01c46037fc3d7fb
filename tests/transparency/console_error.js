console.log("to stdout");
console.error("to stderr");
process.stdout.write("no newline on stdout");
process.stderr.write("no newline on stderr");
