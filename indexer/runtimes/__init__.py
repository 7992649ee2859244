"""How the ViT runs on this machine: torch or OpenVINO, at fp32, bf16 or with int8 weights.

On a CPU the forward pass is the whole cost of an ingest, and which runtime is fastest depends on
the machine (AVX-512 BF16 or only AVX2, thread count, package versions) and on the real weights
(int8 error depends on their outlier channels). So nothing is fixed: `choice` times every
candidate this machine can run on the same images, keeps those whose vectors stay within cosine
0.999 of torch fp32, picks the fastest and remembers the decision (docs/INDEXING.md#runtime).
"""
