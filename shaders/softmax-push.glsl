// Push constants of softmax.comp; mirrored by SoftmaxPush in vulkan/sinopia-ops-softmax.c.
// With VEC4, x_off and x_stride count vec4 texels; otherwise elements.
layout(push_constant) uniform SoftmaxPush {
    uint rows;
    uint cols;
    uint x_off;
    uint x_stride;
    uint y_off;
    uint y_stride;
} p;
