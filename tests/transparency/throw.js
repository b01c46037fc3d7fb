// An uncaught Error: node prints the source line and the stack.
function inner() {
	throw new Error("thrown in inner");
}
function outer() {
	inner();
}
console.log("before");
outer();
