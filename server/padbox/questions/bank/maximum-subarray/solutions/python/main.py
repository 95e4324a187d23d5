import sys

data = sys.stdin.read().split()
n = int(data[0])
best = current = int(data[1])
for value in map(int, data[2 : n + 1]):
    current = max(value, current + value)
    best = max(best, current)
print(best)
