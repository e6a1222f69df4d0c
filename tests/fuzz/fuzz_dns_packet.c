/* Fuzz target: DNS query parsing and the whole answer path, over UDP and TCP limits, against
 * a small generation with every dataset type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/answer.h"

static struct sh_dns_gen *gen;

static const char ip4[] = "$SOA 0 ns.bl.test. hm.bl.test. 1 1h 5m 1w 5m\n$NS 1d ns.bl.test.\n$1 x\n"
			  ":127.0.0.2:ip $ $1 $2 $$\n127.0.0.2\n10.0.0.0/8 :3\n!10.1.1.1\n"
			  "10.2.3.4 :4:aaaa\n10.2.3.4 :5:bbb\n";

static const char *const data[4] = {
	ip4,
	"10.0.0.0/8\n10.1.0.0/16 :4:x $\n!10.1.2.0/24\n",
	"2001:db8::/32 :5:v6 $\n!2001:db8::1\n::1\n",
	"$= base $= $\nexample.com\n.wild.example :6:w\n*.s.example\n!x.s.example\n",
};

static void init(void)
{
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct sh_dns_dataset *ds[4];
	struct sh_dns_zonespec zs[4] = {{(char *)"bl.test", 0, (char *)"a"},
					{(char *)"t.bl.test", 1, (char *)"b"},
					{(char *)"six.test", 2, (char *)"c"},
					{(char *)"d.test", 3, (char *)"d"}};
	for (int i = 0; i < 4; i++)
		if (sh_dns_dataset_parse(i, zs[i].files, data[i], strlen(data[i]), &o, NULL, NULL, &ds[i]))
			abort();
	if (sh_dns_gen_build(zs, 4, ds, &gen))
		abort();
	for (int i = 0; i < 4; i++)
		ds[i]->refs--;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t out[65535];
	if (!gen)
		init();
	struct sh_dns_ainfo info;
	size_t r = sh_dns_answer(gen, d, n, false, out, 65535, &info);
	if (r > 1232 || (r && r < 12))
		abort();
	r = sh_dns_answer(gen, d, n, true, out, 65535, &info);
	if (r && r < 12)
		abort();
	return 0;
}
