import sys

data = sys.stdin.read().split()
n = int(data[0])
pairs = sorted((int(data[1 + 2 * i]), int(data[2 + 2 * i])) for i in range(n))
merged: list[list[int]] = []
for start, end in pairs:
    if merged and start <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], end)
    else:
        merged.append([start, end])
for start, end in merged:
    print(start, end)
