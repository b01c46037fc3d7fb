// Reads all of stdin, then prints the arguments.
let data = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => { data += c; });
process.stdin.on("end", () => {
	console.log(data.length + " characters");
	console.log(data.toUpperCase());
	console.log(JSON.stringify(process.argv.slice(2)));
});
