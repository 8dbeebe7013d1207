import SecurityKey

#if canImport(Glibc)
import Glibc
#endif

// keysmith-sk-helper: one security key operation for a static keysmith, which starts it
// (SecurityKey's HelperProvider). The request comes on standard input, the answer goes to
// standard output; standard output then becomes standard error, so that nothing a library
// prints can be taken for the answer.
let answer = dup(1)
guard answer >= 0, dup2(2, 1) == 1 else { exit(1) }
exit(SecurityKeyHelper.serve(input: 0, output: answer))
