// Push constants of qk-norm-rope.comp; mirrored by QkNormRopePush in vulkan/sinopia-ops-qknorm.c.
layout(push_constant) uniform QkNormRopePush {
    uint rows;
    uint heads;       // heads per row: query heads first, then as many key heads
    uint head_dim;
    uint x_off;
    uint x_stride;
    uint table_off;
    uint table_stride;
    uint use_table;   // 0: normalise only
    uint q_scale_off;
    uint k_scale_off;
    float eps;
    // Rows from `split` on take the second stream's scales (FLUX's double blocks).
    uint split;
    uint q_scale_off_b;
    uint k_scale_off_b;
} p;
