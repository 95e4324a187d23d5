import sys

data = sys.stdin.read().split()
n = int(data[0])
coins = list(map(int, data[1 : n + 1]))
amount = int(data[n + 1])
INF = amount + 1
best = [0] + [INF] * amount
for total in range(1, amount + 1):
    for coin in coins:
        if coin <= total and best[total - coin] + 1 < best[total]:
            best[total] = best[total - coin] + 1
print(best[amount] if best[amount] < INF else -1)
