console.log("exiting with 4");
process.exit(4);
