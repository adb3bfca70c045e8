// Push constants of matmul.comp and matmul-tiled.comp; mirrored by MatmulPush in
// vulkan/sinopia-ops-matmul.c. Offsets and strides count texels of the view the operand is
// read through (elements for scalar views, 4 or 8 elements for the vector views).
// matmul.comp takes has_bias, act, has_gate and accumulate as specialisation constants 1–4
// instead (the host sets both).
layout(push_constant) uniform MatmulPush {
    uint M;
    uint N;
    uint K;           // elements along the reduction
    uint k_steps;     // iterations of the vector loop (matmul.comp)
    uint x_off;
    uint x_stride;
    uint w_off;
    uint w_stride;
    uint b_off;
    uint has_bias;
    uint y_off;
    uint y_stride;
    uint act;
    uint accumulate;
    uint g_off;
    uint has_gate;    // y += gate ⊙ result (FLUX's gated residual; implies accumulate)
    uint tiles_n;     // output tiles along N
    // Rows from `split` on read the second stream's weight, bias and gate (matmul.comp only;
    // row tiles never straddle it): FLUX's text and image streams in one dispatch.
    uint split;
    uint w_off_b;
    uint b_off_b;
    uint g_off_b;
} p;
