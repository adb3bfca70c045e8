// Push constants of rms-norm.comp; mirrored by RmsNormPush in vulkan/sinopia-ops-norm.c.
layout(push_constant) uniform RmsNormPush {
    uint rows;
    uint groups;     // groups per row: cols / group
    uint group;
    uint x_off;
    uint x_stride;
    uint y_off;
    uint y_stride;
    uint weight_off;
    float eps;
} p;
