# scheduling framework: part of libkplane (owned by the scheduler work)
