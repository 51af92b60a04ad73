/* PPM (P6) to JPEG with libjpeg: libvirt hands screenshots over as PPM,
 * EC2's GetConsoleScreenshot returns JPEG. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "vmm/vmm.h"

/* Reads one header number, skipping whitespace and # comments. */
static int ppm_num(const unsigned char *p, size_t len, size_t *pos, long *out)
{
	long v = 0;
	int digits = 0;

	for (;;) {
		if (*pos >= len)
			return -EINVAL;
		if (p[*pos] == '#') {
			while (*pos < len && p[*pos] != '\n')
				(*pos)++;
		} else if (p[*pos] == ' ' || p[*pos] == '\t' || p[*pos] == '\n' || p[*pos] == '\r') {
			(*pos)++;
		} else {
			break;
		}
	}
	while (*pos < len && p[*pos] >= '0' && p[*pos] <= '9') {
		v = v * 10 + (p[*pos] - '0');
		if (v > 1000000)
			return -EINVAL;
		(*pos)++;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
};

static void jerr_exit(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	longjmp(e->jb, 1);
}

static int rgb_to_jpeg(const unsigned char *rgb, long w, long h, int quality, unsigned char **jpg, size_t *jlen);

int vmm_png_to_jpeg(const unsigned char *png, size_t len, int quality, unsigned char **jpg, size_t *jlen,
		    int *width, int *height)
{
	png_image img;
	unsigned char *rgb = NULL;
	int ret;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, png, len))
		return -EINVAL;
	if (img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384) {
		png_image_free(&img);
		return -EINVAL;
	}
	img.format = PNG_FORMAT_RGB;
	rgb = malloc(PNG_IMAGE_SIZE(img));
	if (!rgb) {
		png_image_free(&img);
		return -ENOMEM;
	}
	if (!png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
		png_image_free(&img);
		free(rgb);
		return -EINVAL;
	}
	ret = rgb_to_jpeg(rgb, (long)img.width, (long)img.height, quality, jpg, jlen);
	if (ret == 0) {
		*width = (int)img.width;
		*height = (int)img.height;
	}
	free(rgb);
	return ret;
}

int vmm_ppm_to_jpeg(const unsigned char *ppm, size_t len, int quality, unsigned char **jpg, size_t *jlen,
		    int *width, int *height)
{
	long w, h, maxval;
	size_t pos = 2;
	int ret;

	if (len < 2 || ppm[0] != 'P' || ppm[1] != '6')
		return -EINVAL;
	if (ppm_num(ppm, len, &pos, &w) < 0 || ppm_num(ppm, len, &pos, &h) < 0 ||
	    ppm_num(ppm, len, &pos, &maxval) < 0)
		return -EINVAL;
	if (w <= 0 || h <= 0 || w > 16384 || h > 16384 || maxval != 255 || pos >= len)
		return -EINVAL;
	pos++; /* the single whitespace after maxval */
	if (len - pos < (size_t)(w * h * 3))
		return -EINVAL;
	ret = rgb_to_jpeg(ppm + pos, w, h, quality, jpg, jlen);
	if (ret == 0) {
		*width = (int)w;
		*height = (int)h;
	}
	return ret;
}

static int rgb_to_jpeg(const unsigned char *rgb, long w, long h, int quality, unsigned char **jpg, size_t *jlen)
{
	struct jpeg_compress_struct c;
	struct jerr e;
	unsigned char *volatile out = NULL;
	unsigned long outlen = 0;

	memset(&c, 0, sizeof(c));
	c.err = jpeg_std_error(&e.mgr);
	e.mgr.error_exit = jerr_exit;
	if (setjmp(e.jb)) {
		jpeg_destroy_compress(&c);
		free(out);
		return -EIO;
	}
	jpeg_create_compress(&c);
	{
		unsigned char *o = NULL;

		jpeg_mem_dest(&c, &o, &outlen);
		out = o;
		c.image_width = (JDIMENSION)w;
		c.image_height = (JDIMENSION)h;
		c.input_components = 3;
		c.in_color_space = JCS_RGB;
		jpeg_set_defaults(&c);
		jpeg_set_quality(&c, quality, TRUE);
		jpeg_start_compress(&c, TRUE);
		while (c.next_scanline < c.image_height) {
			JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);

			jpeg_write_scanlines(&c, &row, 1);
		}
		jpeg_finish_compress(&c);
		out = o; /* jpeg_mem_dest may have reallocated it */
	}
	jpeg_destroy_compress(&c);
	*jpg = out;
	*jlen = outlen;
	return 0;
}
