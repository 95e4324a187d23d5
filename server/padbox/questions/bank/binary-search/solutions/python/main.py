import bisect
import sys

data = sys.stdin.read().split()
n = int(data[0])
numbers = list(map(int, data[1 : n + 1]))
target = int(data[n + 1])
i = bisect.bisect_left(numbers, target)
print(i if i < n and numbers[i] == target else -1)
