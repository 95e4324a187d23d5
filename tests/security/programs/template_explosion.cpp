template<int A, int B> struct P { static constexpr long v = P<A - 1, B>::v + P<A, B - 1>::v; };
template<int B> struct P<0, B> { static constexpr long v = 1; };
template<int A> struct P<A, 0> { static constexpr long v = 1; };
template<> struct P<0, 0> { static constexpr long v = 1; };
int main() { return P<400, 400>::v % 7; }
