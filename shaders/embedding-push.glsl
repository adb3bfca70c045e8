// Push constants of embedding.comp; mirrored by EmbeddingPush in vulkan/sinopia-ops-tokens.c.
layout(push_constant) uniform EmbeddingPush {
    uint n;
    uint dim;
    uint vocab;
    uint ids_off;
    uint table_off;
    uint table_stride;
    uint y_off;
    uint y_stride;
} p;
