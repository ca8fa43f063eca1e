package render

import "strings"

// vertexFog turns a mesh shader into its per-vertex-fog variant (see
// Renderer.meshVertexP) by defining VERTEX_FOG.
func vertexFog(src string) string {
	return strings.Replace(src, "#version 330 core\n", "#version 330 core\n#define VERTEX_FOG\n", 1)
}

const meshVS = `#version 330 core
layout(location = 0) in vec3 a_pos;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in float a_cap;
layout(location = 3) in vec3 i_pos;
layout(location = 4) in vec3 i_scale;
layout(location = 5) in vec4 i_rot;
layout(location = 6) in vec4 i_color;
uniform mat4 u_viewproj;
uniform int u_capsule;
uniform vec3 u_sun_dir;
uniform vec3 u_sun_color;
uniform vec3 u_sky;
uniform vec3 u_ground;
uniform vec3 u_eye;
out vec4 v_color;
#ifdef VERTEX_FOG
uniform vec3 u_fog;
uniform float u_fog_density;
` + encodeGLSL + `
#else
out vec3 v_world;
#endif

vec3 qrot(vec4 q, vec3 v) {
	vec3 t = 2.0 * cross(q.xyz, v);
	return v + q.w * t + cross(q.xyz, t);
}

void main() {
	vec3 local;
	vec3 n;
	if (u_capsule == 1) {
		vec3 s = abs(i_scale);
		float r = min(0.5 * max(s.x, s.z), 0.5 * s.y);
		float h = 0.5 * s.y - r;
		local = a_pos * (2.0 * r) + vec3(0.0, a_cap * h, 0.0);
		n = a_normal;
	} else {
		local = a_pos * i_scale;
		vec3 s = abs(i_scale) + vec3(1e-6);
		n = a_normal * sign(i_scale) / s;
	}
	vec3 w = i_pos + qrot(i_rot, local);
	n = normalize(qrot(i_rot, n));
	// Lighting per vertex, in linear light: a sun (Lambert and a little
	// Blinn-Phong) and a sky/ground hemisphere ambient.
	float ndl = max(dot(n, u_sun_dir), 0.0);
	vec3 ambient = mix(u_ground, u_sky, n.y * 0.5 + 0.5);
	vec3 hv = normalize(normalize(u_eye - w) + u_sun_dir);
	float spec = ndl > 0.0 ? pow(max(dot(n, hv), 0.0), 32.0) * 0.16 : 0.0;
	v_color = vec4(i_color.rgb * (ambient + u_sun_color * ndl) + u_sun_color * spec, i_color.a);
#ifdef VERTEX_FOG
	vec3 dv = (u_eye - w) * u_fog_density;
	float d2 = dot(dv, dv);
	v_color = encode(vec4(mix(v_color.rgb, u_fog, d2 / (1.0 + d2)), v_color.a));
#else
	v_world = w;
#endif
	gl_Position = u_viewproj * vec4(w, 1.0);
}
`

// The fragment shader adds distance fog and encodes to sRGB when the
// framebuffer does not (llvmpipe pays for every fragment); with
// VERTEX_FOG the vertex shader did both and it only copies the colour.
const meshFS = `#version 330 core
in vec4 v_color;
out vec4 o_color;
#ifdef VERTEX_FOG
void main() { o_color = v_color; }
#else
in vec3 v_world;
uniform vec3 u_eye;
uniform vec3 u_fog;
uniform float u_fog_density;
` + encodeGLSL + `
void main() {
	vec3 dv = (u_eye - v_world) * u_fog_density;
	float d2 = dot(dv, dv);
	o_color = encode(vec4(mix(v_color.rgb, u_fog, d2 / (1.0 + d2)), v_color.a));
}
#endif
`

// encodeGLSL writes a linear colour: as is into an sRGB framebuffer (the
// hardware encodes it), or sRGB-encoded here into a plain one. The
// encoding is a fit of the sRGB curve by square roots (within about 1/255
// of it), far cheaper than pow for llvmpipe.
const encodeGLSL = `uniform bool u_encode;
vec4 encode(vec4 c) {
	if (!u_encode) return c;
	vec3 x = clamp(c.rgb, 0.0, 1.0);
	vec3 s1 = sqrt(x);
	vec3 s2 = sqrt(s1);
	vec3 s3 = sqrt(s2);
	vec3 e = 0.662002687 * s1 + 0.684122060 * s2 - 0.323583601 * s3 - 0.0225411470 * x;
	return vec4(clamp(e, 0.0, 1.0), c.a);
}`

// The sky is a coarse full-screen grid whose colours are computed per
// vertex from the ray through it (llvmpipe pays per fragment, and the
// gradient is smooth): zenith to horizon above, a darkening haze below.
const skyVS = `#version 330 core
layout(location = 0) in vec2 a_ndc;
uniform vec3 u_forward;
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec2 u_tan;
uniform vec3 u_zenith;
uniform vec3 u_horizon;
uniform vec3 u_fog;
uniform vec3 u_sun_dir;
uniform bool u_encode;
out vec3 v_color;
void main() {
	vec3 d = normalize(u_forward + a_ndc.x * u_tan.x * u_right + a_ndc.y * u_tan.y * u_up);
	vec3 c;
	if (d.y >= 0.0) {
		c = mix(u_horizon, u_zenith, pow(d.y, 0.6));
		float s = max(dot(d, u_sun_dir), 0.0);
		c += vec3(1.0, 0.9, 0.7) * pow(s, 10.0) * 0.15;
	} else {
		c = mix(u_fog, u_fog * 0.6, min(-d.y * 3.0, 1.0));
	}
	if (u_encode) {
		// The gradient is smooth: encoding per vertex is enough.
		vec3 x = clamp(c, 0.0, 1.0);
		c = mix(x * 12.92, 1.055 * pow(x, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, x));
	}
	v_color = c;
	gl_Position = vec4(a_ndc, 1.0, 1.0);
}
`

const skyFS = `#version 330 core
in vec3 v_color;
out vec4 o_color;
void main() { o_color = vec4(v_color, 1.0); }
`

// The grid is lines on y = 0.01 (just above a floor at 0) around the eye,
// every metre near it and every 10 m (brighter) farther, faded with
// distance.
const gridVS = `#version 330 core
layout(location = 0) in vec3 a_pos;
uniform mat4 u_viewproj;
uniform vec3 u_center;
out vec3 v_world;
out float v_major;
void main() {
	vec3 w = vec3(a_pos.x + u_center.x, 0.01, a_pos.z + u_center.z);
	v_world = w;
	v_major = a_pos.y;
	gl_Position = u_viewproj * vec4(w, 1.0);
}
`

const gridFS = `#version 330 core
in vec3 v_world;
in float v_major;
uniform vec3 u_eye;
uniform vec2 u_extent; // fade-out distance of the 1 m and the 10 m lines
out vec4 o_color;

// encode writes a linear colour: as is into an sRGB framebuffer (the
// hardware encodes it), or sRGB-encoded here into a plain one.
// The encoding is a fit of the sRGB curve by square roots (within about
// 1/255 of it), far cheaper than pow for llvmpipe.
uniform bool u_encode;
vec4 encode(vec4 c) {
	if (!u_encode) return c;
	vec3 x = clamp(c.rgb, 0.0, 1.0);
	vec3 s1 = sqrt(x);
	vec3 s2 = sqrt(s1);
	vec3 s3 = sqrt(s2);
	vec3 e = 0.662002687 * s1 + 0.684122060 * s2 - 0.323583601 * s3 - 0.0225411470 * x;
	return vec4(clamp(e, 0.0, 1.0), c.a);
}
void main() {
	float dist = length(u_eye.xz - v_world.xz);
	float extent = mix(u_extent.x, u_extent.y, v_major);
	float fade = 1.0 - smoothstep(extent * 0.3, extent, dist);
	float a = mix(0.09, 0.22, v_major) * fade;
	o_color = encode(vec4(vec3(0.02, 0.025, 0.035), a));
}
`

// Ground shadows: instanced discs on y = 0, darkest in the middle, each
// an octagon around its disc when u_octagon (a triangle strip of 8
// vertices: a sixth fewer fragments than a square, for shadows large on
// screen), else a square (a strip of 4: fewer triangles, for small ones).
const shadowVS = `#version 330 core
layout(location = 0) in vec4 i_shadow; // x, z, radius, darkness
uniform mat4 u_viewproj;
uniform bool u_octagon;
out vec2 v_uv;
out float v_dark;
void main() {
	// Square: corners (-1, -1), (1, -1), (-1, 1), (1, 1). Octagon: strip
	// order 0, 1, 7, 2, 6, 3, 5, 4 round it, its vertices at 1/cos(pi/8)
	// so that its edges touch the circle.
	int k = gl_VertexID;
	vec2 corner = vec2(float(k & 1), float((k >> 1) & 1)) * 2.0 - 1.0;
	if (u_octagon) {
		int i = (k & 1) == 1 ? (k + 1) / 2 : (8 - k / 2) % 8;
		float a = float(i) * 0.785398163 + 0.392699082;
		corner = vec2(cos(a), sin(a)) * 1.082392200;
	}
	v_uv = corner;
	v_dark = i_shadow.w;
	vec3 w = vec3(i_shadow.x + corner.x * i_shadow.z, 0.0, i_shadow.y + corner.y * i_shadow.z);
	gl_Position = u_viewproj * vec4(w, 1.0);
}
`

const shadowFS = `#version 330 core
in vec2 v_uv;
in float v_dark;
out vec4 o_color;
void main() {
	float r = dot(v_uv, v_uv);
	if (r >= 1.0) discard;
	float a = v_dark * (1.0 - smoothstep(0.15, 1.0, r));
	o_color = vec4(0.0, 0.0, 0.0, a);
}
`

// Text and flat rectangles: instanced quads. u_world = 0 places a quad at
// pixel coordinates (y down); u_world = 1 at pixel offsets from a world
// anchor projected to the screen (snapped to whole pixels), with the
// anchor's depth.
const textVS = `#version 330 core
layout(location = 0) in vec3 i_anchor;
layout(location = 1) in vec4 i_rect;
layout(location = 2) in vec4 i_uv;
layout(location = 3) in vec4 i_color;
uniform vec2 u_size;
uniform int u_world;
uniform mat4 u_viewproj;
out vec2 v_uv;
out vec4 v_color;
void main() {
	vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
	vec2 px = mix(i_rect.xy, i_rect.zw, corner);
	v_uv = mix(i_uv.xy, i_uv.zw, corner);
	v_color = i_color;
	float z = 0.0;
	if (u_world == 1) {
		vec4 c = u_viewproj * vec4(i_anchor, 1.0);
		if (c.w <= 0.0) {
			gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
			return;
		}
		vec3 ndc = c.xyz / c.w;
		vec2 a = floor(vec2((ndc.x + 1.0) * 0.5 * u_size.x, (1.0 - ndc.y) * 0.5 * u_size.y) + 0.5);
		px += a;
		z = ndc.z;
	}
	gl_Position = vec4(px.x / u_size.x * 2.0 - 1.0, 1.0 - px.y / u_size.y * 2.0, z, 1.0);
}
`

const textFS = `#version 330 core
in vec2 v_uv;
in vec4 v_color;
uniform sampler2D u_atlas;
out vec4 o_color;

// encode writes a linear colour: as is into an sRGB framebuffer (the
// hardware encodes it), or sRGB-encoded here into a plain one.
// The encoding is a fit of the sRGB curve by square roots (within about
// 1/255 of it), far cheaper than pow for llvmpipe.
uniform bool u_encode;
vec4 encode(vec4 c) {
	if (!u_encode) return c;
	vec3 x = clamp(c.rgb, 0.0, 1.0);
	vec3 s1 = sqrt(x);
	vec3 s2 = sqrt(s1);
	vec3 s3 = sqrt(s2);
	vec3 e = 0.662002687 * s1 + 0.684122060 * s2 - 0.323583601 * s3 - 0.0225411470 * x;
	return vec4(clamp(e, 0.0, 1.0), c.a);
}
void main() {
	float cov = texture(u_atlas, v_uv).r;
	o_color = encode(vec4(v_color.rgb, v_color.a * cov));
}
`
