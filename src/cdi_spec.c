/* SPDX-License-Identifier: MIT */
/* cdi_spec - the nodes as a CDI spec (see cdi_spec.h). */
#include "cdi_spec.h"

static void json_string(GString *s, const char *text)
{
	g_string_append_c(s, '"');
	for (const guchar *p = (const guchar *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(s, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			g_string_append_printf(s, "\\u%04x", *p);
		else
			g_string_append_c(s, (char)*p);
	}
	g_string_append_c(s, '"');
}

char *cdi_spec_render(const CdiSpecNode *nodes, gsize n)
{
	GString *s = g_string_new("{\n  \"cdiVersion\": \"" CDI_SPEC_VERSION "\",\n"
	                          "  \"kind\": \"" CDI_SPEC_KIND "\",\n"
	                          "  \"devices\": [");
	for (gsize i = 0; i < n; i++) {
		g_autofree char *path = g_strdup_printf("/dev/%s", nodes[i].name);
		g_string_append(s, i ? ",\n    {\n      \"name\": " : "\n    {\n      \"name\": ");
		json_string(s, nodes[i].name);
		g_string_append(s, ",\n      \"containerEdits\": {\n"
		                   "        \"deviceNodes\": [\n          {\"path\": ");
		json_string(s, path);
		g_string_append_printf(s,
		                       ", \"type\": \"c\", \"major\": %u, \"minor\": %u, "
		                       "\"permissions\": \"rw\"}\n"
		                       "        ]\n      }\n    }",
		                       nodes[i].major, nodes[i].minor);
	}
	g_string_append(s, n ? "\n  ]\n}\n" : "]\n}\n");
	return g_string_free(s, FALSE);
}
