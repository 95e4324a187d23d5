const data = require("fs").readFileSync(0, "utf8");
// TODO: Number of Islands: read the input above, print the answer
console.log("");
