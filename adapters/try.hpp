#pragma once
// DEIT_ASSIGN_OR_RETURN(var, expr): evaluates a Result-returning expression, returns its
// Error from the enclosing function on failure, else moves the value into `var`.
#define DEIT_CONCAT_INNER(a, b) a##b
#define DEIT_CONCAT(a, b) DEIT_CONCAT_INNER(a, b)
#define DEIT_ASSIGN_OR_RETURN(var, expr)                                      \
  auto DEIT_CONCAT(var, _result) = (expr);                                    \
  if (!DEIT_CONCAT(var, _result)) return DEIT_CONCAT(var, _result).error(); \
  auto var = std::move(DEIT_CONCAT(var, _result)).value()
