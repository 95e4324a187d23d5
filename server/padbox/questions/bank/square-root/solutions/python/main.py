import math
import sys

data = sys.stdin.read().split()
for value in data[1 : int(data[0]) + 1]:
    print(f"{math.sqrt(float(value)):.9f}")
