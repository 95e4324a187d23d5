const data = require("fs").readFileSync(0, "utf8");
// TODO: Longest Substring Without Repeating Characters: read the input above, print the answer
console.log("");
