const data = require("fs").readFileSync(0, "utf8");
// TODO: Valid Palindrome: read the input above, print the answer
console.log("");
