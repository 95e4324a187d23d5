import sys

line = sys.stdin.readline()
kept = [c.lower() for c in line if c.isascii() and c.isalnum()]
print("true" if kept == kept[::-1] else "false")
