import sys

text = sys.stdin.readline().rstrip("\n")
last: dict[str, int] = {}
start = best = 0
for i, ch in enumerate(text):
    if last.get(ch, -1) >= start:
        start = last[ch] + 1
    last[ch] = i
    best = max(best, i - start + 1)
print(best)
