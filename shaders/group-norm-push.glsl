// Push constants of group-norm.comp; mirrored by GroupNormPush in vulkan/sinopia-ops-image.c.
layout(push_constant) uniform GroupNormPush {
    uint groups;
    uint per_group;     // channels per group
    uint pixels;        // columns per channel (H·W)
    uint x_off;         // elements; multiples of 4 in the VEC4 variant
    uint x_stride;
    uint y_off;
    uint y_stride;
    uint weight_off;
    uint bias_off;
    uint has_weight;
    uint has_bias;
    uint silu;
    float eps;
} p;
