// Output prelude: results are written as f64 (with the f64 Real prelude).
alias Stored = f64;
