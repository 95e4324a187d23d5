"""The question bank: questions with starters and test cases, and pads' test runs against them."""
