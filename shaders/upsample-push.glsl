// Push constants of upsample.comp; mirrored by UpsamplePush in vulkan/sinopia-ops-image.c.
layout(push_constant) uniform UpsamplePush {
    uint channels;
    uint height;        // input
    uint width;
    uint x_off;
    uint x_stride;
    uint y_off;
    uint y_stride;
} p;
