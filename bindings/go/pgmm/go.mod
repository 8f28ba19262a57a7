module pgmm

go 1.19
