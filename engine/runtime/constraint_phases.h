// Private to the constraint matcher: the phase numbers of each frame kind, shared by the step
// functions (constraint_matcher.cpp) and the cost functions (constraint_cost.cpp).
#pragma once

#include <cstdint>

namespace gemma::runtime::cg {

enum : uint8_t { R_PRE, R_START, R_THOUGHT, R_VALUE, R_AFTER };
enum : uint8_t { T_PRE, T_THOUGHT, T_CALL, T_NAME, T_ARGS, T_CLOSE, T_AFTER, T_DONE };
enum : uint8_t { O_OPEN, O_FIRST, O_NEXT, O_KEY, O_COLON, O_FKEY, O_VALUE, O_AFTER };
enum : uint8_t { A_OPEN, A_FIRST, A_VALUE, A_AFTER };
enum : uint8_t { S_OPEN, S_BODY, S_ESC, S_HEX };
enum : uint8_t { N_START, N_SIGN, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

constexpr int32_t kBig = 1 << 28;  // "cannot finish" in cost sums

}  // namespace gemma::runtime::cg
