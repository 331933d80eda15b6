// The demo's service. demo/gen-nodejs is what `thrift --gen js:node demo/calc.thrift`
// writes (run from demo/); a test regenerates it and checks it is unchanged.
service Calc {
  i32 add(1: i32 a, 2: i32 b)
}
