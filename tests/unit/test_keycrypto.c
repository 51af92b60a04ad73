/* keycrypto: EC2 key pair crypto against fixed vectors made with the real
 * tools, and created keys checked by running ssh-keygen/openssl on them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hostd/keycrypto.h"
#include "lib/buf.h"
#include "lib/util.h"

extern char **environ;

/* Generated once with ssh-keygen -t rsa -b N; converted with ssh-keygen -e [-m PKCS8|PEM];
 * fingerprints from `openssl pkey -pubin -outform DER | openssl md5 -c`. */
#define RSA1024_FP "66:f5:f1:60:ea:6d:95:30:10:f6:49:81:d3:c5:ff:a9"
#define RSA2048_FP "90:6c:1a:e5:10:4a:03:2a:0a:16:4d:15:da:3e:4a:a8"
#define RSA4096_FP "6d:d9:70:ab:1c:e1:35:d3:04:f6:7a:85:bf:bd:fc:00"
static const char rsa1024_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDO39BF4ZdrMk/9gA8qFT5uenrEvctzMcTl2wLCSzofa7dYgBLiWgDnY+ClR5nocCdIpyI013hzAYXiMj3xJs+LxoxQp63peVLnryAcR2YvSnU+ZKorj77Vnw1OEcGMSFZKGAr3cd6Y1gEEZAw3z5VBLccizKOg0e8DFPiOzT0oBQ== rsa1024@test\n";
static const char rsa1024_rfc4716[] =
	"---- BEGIN SSH2 PUBLIC KEY ----\n"
	"Comment: \"1024-bit RSA, converted by root@vm from OpenSSH\"\n"
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDO39BF4ZdrMk/9gA8qFT5uenrEvctzMcTl2wLCSz\n"
	"ofa7dYgBLiWgDnY+ClR5nocCdIpyI013hzAYXiMj3xJs+LxoxQp63peVLnryAcR2YvSnU+\n"
	"ZKorj77Vnw1OEcGMSFZKGAr3cd6Y1gEEZAw3z5VBLccizKOg0e8DFPiOzT0oBQ==\n"
	"---- END SSH2 PUBLIC KEY ----\n";
static const char rsa1024_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDO39BF4ZdrMk/9gA8qFT5uenrE\n"
	"vctzMcTl2wLCSzofa7dYgBLiWgDnY+ClR5nocCdIpyI013hzAYXiMj3xJs+LxoxQ\n"
	"p63peVLnryAcR2YvSnU+ZKorj77Vnw1OEcGMSFZKGAr3cd6Y1gEEZAw3z5VBLcci\n"
	"zKOg0e8DFPiOzT0oBQIDAQAB\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa1024_pkcs1[] =
	"-----BEGIN RSA PUBLIC KEY-----\n"
	"MIGJAoGBAM7f0EXhl2syT/2ADyoVPm56esS9y3MxxOXbAsJLOh9rt1iAEuJaAOdj\n"
	"4KVHmehwJ0inIjTXeHMBheIyPfEmz4vGjFCnrel5UuevIBxHZi9KdT5kqiuPvtWf\n"
	"DU4RwYxIVkoYCvdx3pjWAQRkDDfPlUEtxyLMo6DR7wMU+I7NPSgFAgMBAAE=\n"
	"-----END RSA PUBLIC KEY-----\n";
static const char rsa1024_b64der[] =
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDO39BF4ZdrMk/9gA8qFT5uenrE\n"
	"vctzMcTl2wLCSzofa7dYgBLiWgDnY+ClR5nocCdIpyI013hzAYXiMj3xJs+LxoxQ\n"
	"p63peVLnryAcR2YvSnU+ZKorj77Vnw1OEcGMSFZKGAr3cd6Y1gEEZAw3z5VBLcci\n"
	"zKOg0e8DFPiOzT0oBQIDAQAB\n";
static const char rsa2048_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC8NkibASmChBRSGFamWoqZvefSMRRC+62mS5rZh22aICPS27IVfKmManE7lahxx7O818IEYLZ7i9iBtUHOhBsuCdT1wXTV+ebCvu7zuNTDw8WKctnmUwD0/gvLfmjdfunCuMX4LotlDLZCCIs61MVbTS9ozSn6M82wGIPNH2INhbd1CVDLIS8WDoyQcaRl2XzXSQrcG7+X5fBn7d1hdVyPzSidQAYKwiqjXu1PB1FL3zyS02rElHqwUJz3gf/HWR+ZuYDx6vUWJUKgeekAbqUbzKYEM0nKCSSIwrX1IRq22ozk9nm7YaU8vkhsMF/Saue1ZaEckijnL/LPsQXiCmZH rsa2048@test\n";
static const char rsa2048_rfc4716[] =
	"---- BEGIN SSH2 PUBLIC KEY ----\n"
	"Comment: \"2048-bit RSA, converted by root@vm from OpenSSH\"\n"
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQC8NkibASmChBRSGFamWoqZvefSMRRC+62mS5rZh2\n"
	"2aICPS27IVfKmManE7lahxx7O818IEYLZ7i9iBtUHOhBsuCdT1wXTV+ebCvu7zuNTDw8WK\n"
	"ctnmUwD0/gvLfmjdfunCuMX4LotlDLZCCIs61MVbTS9ozSn6M82wGIPNH2INhbd1CVDLIS\n"
	"8WDoyQcaRl2XzXSQrcG7+X5fBn7d1hdVyPzSidQAYKwiqjXu1PB1FL3zyS02rElHqwUJz3\n"
	"gf/HWR+ZuYDx6vUWJUKgeekAbqUbzKYEM0nKCSSIwrX1IRq22ozk9nm7YaU8vkhsMF/Sau\n"
	"e1ZaEckijnL/LPsQXiCmZH\n"
	"---- END SSH2 PUBLIC KEY ----\n";
static const char rsa2048_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvDZImwEpgoQUUhhWplqK\n"
	"mb3n0jEUQvutpkua2YdtmiAj0tuyFXypjGpxO5WoccezvNfCBGC2e4vYgbVBzoQb\n"
	"LgnU9cF01fnmwr7u87jUw8PFinLZ5lMA9P4Ly35o3X7pwrjF+C6LZQy2QgiLOtTF\n"
	"W00vaM0p+jPNsBiDzR9iDYW3dQlQyyEvFg6MkHGkZdl810kK3Bu/l+XwZ+3dYXVc\n"
	"j80onUAGCsIqo17tTwdRS988ktNqxJR6sFCc94H/x1kfmbmA8er1FiVCoHnpAG6l\n"
	"G8ymBDNJygkkiMK19SEattqM5PZ5u2GlPL5IbDBf0mrntWWhHJIo5y/yz7EF4gpm\n"
	"RwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa2048_pkcs1[] =
	"-----BEGIN RSA PUBLIC KEY-----\n"
	"MIIBCgKCAQEAvDZImwEpgoQUUhhWplqKmb3n0jEUQvutpkua2YdtmiAj0tuyFXyp\n"
	"jGpxO5WoccezvNfCBGC2e4vYgbVBzoQbLgnU9cF01fnmwr7u87jUw8PFinLZ5lMA\n"
	"9P4Ly35o3X7pwrjF+C6LZQy2QgiLOtTFW00vaM0p+jPNsBiDzR9iDYW3dQlQyyEv\n"
	"Fg6MkHGkZdl810kK3Bu/l+XwZ+3dYXVcj80onUAGCsIqo17tTwdRS988ktNqxJR6\n"
	"sFCc94H/x1kfmbmA8er1FiVCoHnpAG6lG8ymBDNJygkkiMK19SEattqM5PZ5u2Gl\n"
	"PL5IbDBf0mrntWWhHJIo5y/yz7EF4gpmRwIDAQAB\n"
	"-----END RSA PUBLIC KEY-----\n";
static const char rsa2048_b64der[] =
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvDZImwEpgoQUUhhWplqK\n"
	"mb3n0jEUQvutpkua2YdtmiAj0tuyFXypjGpxO5WoccezvNfCBGC2e4vYgbVBzoQb\n"
	"LgnU9cF01fnmwr7u87jUw8PFinLZ5lMA9P4Ly35o3X7pwrjF+C6LZQy2QgiLOtTF\n"
	"W00vaM0p+jPNsBiDzR9iDYW3dQlQyyEvFg6MkHGkZdl810kK3Bu/l+XwZ+3dYXVc\n"
	"j80onUAGCsIqo17tTwdRS988ktNqxJR6sFCc94H/x1kfmbmA8er1FiVCoHnpAG6l\n"
	"G8ymBDNJygkkiMK19SEattqM5PZ5u2GlPL5IbDBf0mrntWWhHJIo5y/yz7EF4gpm\n"
	"RwIDAQAB\n";
static const char rsa4096_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQCqg8tB50F11s9Qj4vva3zwECIRjrK/nIdTnJMkc94Ya+fx7LHa7JD7G9XFwEPFjMXem991HCohLBkAuBM7WH+T/C/TC7d6YaqqaUvk0wPEncguOXmRSCRoYiFlWG7RblS+qtJxtI0KrRzarnjA31M9uw32wOnUeL0fI72TGQCTTflJwoz7d/Q3dGdEQV42fBoa1vX1uh6l8MCFDHvY86VEjFUZIXJYfQPQDKlx//8LhdIR7RCWLXRDMmwseudQq4zo8NmCLsnuUdUaSsbOBVf6dMD5bs6qgVMw50xsoDL/S7LRjsDmusS1CXW/zl8X+N+r9DQAuTbSReMGxbOTfcuE7gZMqbaxGsVTDgt6MYwfK+IyELc8MdUiKjUF3NwPSTs/W1OCeVTgvmUgOOwWhv5h4IU0gZV23qbulBNKQDcYK+M0DoBW8PcCBbfD609s2AHMsHQmtJ2fu5b79Fg7iHoDjpTSIy0YUZgg0v4BHTRQfjg3aguYrCGvl3E5R0UANBImZepjrKzJsGKCrtx2nDRmgiu4yAl++1rUBQC2MHgNIgMsQowihNrMsjPhqZwcUdLhtutj26bGHJg+SCIcNuHPaFUcHWeIbiaFV1m6DuO9kYzDa1z86WVf1TtdV8v8ABCir3tTXUA5AMlPxsniLBe56OWqhzspxlzs8u2vppPb6w== rsa4096@test\n";
static const char rsa4096_rfc4716[] =
	"---- BEGIN SSH2 PUBLIC KEY ----\n"
	"Comment: \"4096-bit RSA, converted by root@vm from OpenSSH\"\n"
	"AAAAB3NzaC1yc2EAAAADAQABAAACAQCqg8tB50F11s9Qj4vva3zwECIRjrK/nIdTnJMkc9\n"
	"4Ya+fx7LHa7JD7G9XFwEPFjMXem991HCohLBkAuBM7WH+T/C/TC7d6YaqqaUvk0wPEncgu\n"
	"OXmRSCRoYiFlWG7RblS+qtJxtI0KrRzarnjA31M9uw32wOnUeL0fI72TGQCTTflJwoz7d/\n"
	"Q3dGdEQV42fBoa1vX1uh6l8MCFDHvY86VEjFUZIXJYfQPQDKlx//8LhdIR7RCWLXRDMmws\n"
	"eudQq4zo8NmCLsnuUdUaSsbOBVf6dMD5bs6qgVMw50xsoDL/S7LRjsDmusS1CXW/zl8X+N\n"
	"+r9DQAuTbSReMGxbOTfcuE7gZMqbaxGsVTDgt6MYwfK+IyELc8MdUiKjUF3NwPSTs/W1OC\n"
	"eVTgvmUgOOwWhv5h4IU0gZV23qbulBNKQDcYK+M0DoBW8PcCBbfD609s2AHMsHQmtJ2fu5\n"
	"b79Fg7iHoDjpTSIy0YUZgg0v4BHTRQfjg3aguYrCGvl3E5R0UANBImZepjrKzJsGKCrtx2\n"
	"nDRmgiu4yAl++1rUBQC2MHgNIgMsQowihNrMsjPhqZwcUdLhtutj26bGHJg+SCIcNuHPaF\n"
	"UcHWeIbiaFV1m6DuO9kYzDa1z86WVf1TtdV8v8ABCir3tTXUA5AMlPxsniLBe56OWqhzsp\n"
	"xlzs8u2vppPb6w==\n"
	"---- END SSH2 PUBLIC KEY ----\n";
static const char rsa4096_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAqoPLQedBddbPUI+L72t8\n"
	"8BAiEY6yv5yHU5yTJHPeGGvn8eyx2uyQ+xvVxcBDxYzF3pvfdRwqISwZALgTO1h/\n"
	"k/wv0wu3emGqqmlL5NMDxJ3ILjl5kUgkaGIhZVhu0W5UvqrScbSNCq0c2q54wN9T\n"
	"PbsN9sDp1Hi9HyO9kxkAk035ScKM+3f0N3RnREFeNnwaGtb19boepfDAhQx72POl\n"
	"RIxVGSFyWH0D0Aypcf//C4XSEe0Qli10QzJsLHrnUKuM6PDZgi7J7lHVGkrGzgVX\n"
	"+nTA+W7OqoFTMOdMbKAy/0uy0Y7A5rrEtQl1v85fF/jfq/Q0ALk20kXjBsWzk33L\n"
	"hO4GTKm2sRrFUw4LejGMHyviMhC3PDHVIio1BdzcD0k7P1tTgnlU4L5lIDjsFob+\n"
	"YeCFNIGVdt6m7pQTSkA3GCvjNA6AVvD3AgW3w+tPbNgBzLB0JrSdn7uW+/RYO4h6\n"
	"A46U0iMtGFGYINL+AR00UH44N2oLmKwhr5dxOUdFADQSJmXqY6ysybBigq7cdpw0\n"
	"ZoIruMgJfvta1AUAtjB4DSIDLEKMIoTazLIz4amcHFHS4bbrY9umxhyYPkgiHDbh\n"
	"z2hVHB1niG4mhVdZug7jvZGMw2tc/OllX9U7XVfL/AAQoq97U11AOQDJT8bJ4iwX\n"
	"uejlqoc7KcZc7PLtr6aT2+sCAwEAAQ==\n"
	"-----END PUBLIC KEY-----\n";

/* ssh-keygen -t ed25519; fingerprint from ssh-keygen -l -E sha256 plus the '='
 * padding. ssh-keygen cannot export ed25519 as PKCS#8, so the SPKI forms are
 * the fixed ed25519 SPKI prefix around the same 32 bytes (checked with
 * openssl pkey -pubin -text). */
#define ED_FP "xTORS0XLQubjYMhEB+h5vCQW3rZ+bk7O07JNaPTY0og="
static const char ed_pub[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHLTLtT5kB5z1hMlLER+05Ala6AyjK6a0UMLWq+rejj0 ed@test\n";
static const char ed_rfc4716[] =
	"---- BEGIN SSH2 PUBLIC KEY ----\n"
	"Comment: \"256-bit ED25519, converted by root@vm from OpenSSH\"\n"
	"AAAAC3NzaC1lZDI1NTE5AAAAIHLTLtT5kB5z1hMlLER+05Ala6AyjK6a0UMLWq+rejj0\n"
	"---- END SSH2 PUBLIC KEY ----\n";
static const char ed_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEActMu1PmQHnPWEyUsRH7TkCVroDKMrprRQwtar6t6OPQ=\n"
	"-----END PUBLIC KEY-----\n";
static const char ed_b64der[] =
	"MCowBQYDK2VwAyEActMu1PmQHnPWEyUsRH7TkCVroDKMrprRQwtar6t6OPQ=\n";

/* Keys EC2 refuses: ssh-keygen ecdsa/dsa keys (also as PKCS#8), openssl
 * RSA 512 (and ssh-keygen -i of it), RSA-PSS and ED448. */
static const char ecdsa_pub[] =
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBM7g3SPHk3uHuk3guof8VI7FN973criplgalUWusp6DxyZldWitznnIHjq5LV+RTvS3QD4q9ZZIHswL4yLSw0eo= ec\n";
static const char dsa_pub[] =
	"ssh-dss AAAAB3NzaC1kc3MAAACBAK0p7utYC8ri+hfVkTrrRLpuK6nwSiUct/wk+jYp+IrtKO2S+JbCZRcBtyCIhbFTp0Jy2bNnrYB+7PKpIxspgqxdBBmJFn2V53Y9Wapz2J5vgtHC8oHXmYYtrdiK+D4EREAp7IQzy1AVlGGb/ts/764S5gPUCMJWP0PhJvAhXcxJAAAAFQD5TOV8PrGDvxJ0ZfzgC9BsuUmvxwAAAIAlgUT420MBgyrRzzwcYkKu476MRiC0M6kIJnM+AsO/wiQSa1B4iLOn6l7evLpAMcyXGUtvFs81iGERtASJFhgnTM0IsYkOavHG59+yQ7Ck/p8//THkXSlWmEAotzYwXuQPC3UeRlg+SW3pvrqdGBZ5JqgkFYnjYPEF/J88J/6qFgAAAIBmrHfbOst4fekp0pA4aZa4piD0gZjqPjZcniNvQdQnx+VdZPwN0D/wzwfzDNy6kR5zxqcxbl90T5+4dr0jNislRaudfYdWfzL47Bg7YQ+Dhy/XQ21xxkchTpYlTNRF23XyXyjiFBnWsNcbsJJ/cMSyiXitE5islqWRYFoXUrQNng== dsa\n";
static const char ecdsa_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzuDdI8eTe4e6TeC6h/xUjsU33vdy\n"
	"uKmWBqVRa6ynoPHJmV1aK3OecgeOrktX5FO9LdAPir1lkgezAvjItLDR6g==\n"
	"-----END PUBLIC KEY-----\n";
static const char dsa_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBtjCCASsGByqGSM44BAEwggEeAoGBAK0p7utYC8ri+hfVkTrrRLpuK6nwSiUc\n"
	"t/wk+jYp+IrtKO2S+JbCZRcBtyCIhbFTp0Jy2bNnrYB+7PKpIxspgqxdBBmJFn2V\n"
	"53Y9Wapz2J5vgtHC8oHXmYYtrdiK+D4EREAp7IQzy1AVlGGb/ts/764S5gPUCMJW\n"
	"P0PhJvAhXcxJAhUA+UzlfD6xg78SdGX84AvQbLlJr8cCgYAlgUT420MBgyrRzzwc\n"
	"YkKu476MRiC0M6kIJnM+AsO/wiQSa1B4iLOn6l7evLpAMcyXGUtvFs81iGERtASJ\n"
	"FhgnTM0IsYkOavHG59+yQ7Ck/p8//THkXSlWmEAotzYwXuQPC3UeRlg+SW3pvrqd\n"
	"GBZ5JqgkFYnjYPEF/J88J/6qFgOBhAACgYBmrHfbOst4fekp0pA4aZa4piD0gZjq\n"
	"PjZcniNvQdQnx+VdZPwN0D/wzwfzDNy6kR5zxqcxbl90T5+4dr0jNislRaudfYdW\n"
	"fzL47Bg7YQ+Dhy/XQ21xxkchTpYlTNRF23XyXyjiFBnWsNcbsJJ/cMSyiXitE5is\n"
	"lqWRYFoXUrQNng==\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa512_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAN+sNOq2tvrXSv3SOlcDa4rN977/dVj5\n"
	"vR3WaNiAcetVi6eo5A5n2RaVGuexUtIRkguEmzyy8PltpC1ClG5/81sCAwEAAQ==\n"
	"-----END PUBLIC KEY-----\n";
static const char rsapss_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIGdMAsGCSqGSIb3DQEBCgOBjQAwgYkCgYEAxEntiiAgrXp7zgXRuOpMLh0hrLQK\n"
	"12XETxx1MGoyunGqt1jLpJ4Vh6SOP694uArtuea4C9wQEr2J97taIZxnPvLjceNd\n"
	"da5KOQXr3amQAlV6azIF1vNjHMSZO0Lntg9N5RcJ51fl1VsxHChFGU1aG6AIZxFV\n"
	"HcJtA493iCOM4KUCAwEAAQ==\n"
	"-----END PUBLIC KEY-----\n";
static const char ed448_spki[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MEMwBQYDK2VxAzoACKq17+VLPX04rNieztvkw+7oxYjrlbP0kiQTsxY9rbLTkdli\n"
	"fjWQwNyKOVzumHj2I1IOkwP3b+YA\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa512_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAQQDfrDTqtrb610r90jpXA2uKzfe+/3VY+b0d1mjYgHHrVYunqOQOZ9kWlRrnsVLSEZILhJs8svD5baQtQpRuf/Nb rsa512\n";

/* ---- helpers ---- */

struct imp {
	int ret;
	enum key_type type;
	char *pub;
	char fp[KEY_FINGERPRINT_MAX];
	char why[KEY_WHY_MAX];
};

static void do_import(const void *m, size_t n, struct imp *r)
{
	memset(r, 0, sizeof(*r));
	r->ret = keycrypto_import(m, n, &r->type, &r->pub, r->fp, r->why);
}

/* "type base64" of an OpenSSH public key line (the comment dropped). */
static char *openssh_of(const char *line)
{
	const char *sp = strchr(line, ' ');
	size_t n;

	assert_non_null(sp);
	n = strcspn(sp + 1, " \n");
	return xstrndup(line, (size_t)(sp + 1 - line) + n);
}

static void expect_ok_n(const void *m, size_t n, enum key_type type, const char *fp, const char *publine)
{
	char *want = openssh_of(publine);
	struct imp r;

	do_import(m, n, &r);
	if (r.ret)
		print_error("import failed: %s\n", r.why);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.type, type);
	assert_string_equal(r.fp, fp);
	assert_string_equal(r.pub, want);
	free(want);
	free(r.pub);
}

static void expect_ok(const char *m, enum key_type type, const char *fp, const char *publine)
{
	expect_ok_n(m, strlen(m), type, fp, publine);
}

/* why_part: a substring the reason must contain, or NULL for any reason. */
static void expect_reject_n(const void *m, size_t n, const char *why_part)
{
	struct imp r;

	do_import(m, n, &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_null(r.pub);
	assert_string_equal(r.fp, "");
	assert_true(r.why[0] != '\0');
	if (why_part && !strstr(r.why, why_part)) {
		print_error("reason \"%s\" lacks \"%s\"\n", r.why, why_part);
		fail();
	}
}

static void expect_reject(const char *m, const char *why_part)
{
	expect_reject_n(m, strlen(m), why_part);
}

static char *replace_all(const char *s, const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	const char *p;

	while ((p = strstr(s, from))) {
		buf_add(&b, s, (size_t)(p - s));
		buf_adds(&b, to);
		s = p + strlen(from);
	}
	buf_adds(&b, s);
	return buf_steal(&b);
}

/* ---- fixed vectors ---- */

struct vec {
	const char *material;
	enum key_type type;
	const char *fp;
	const char *pub; /* the OpenSSH line the key came from */
};

static const struct vec vecs[] = {
	{ rsa1024_pub, KEY_TYPE_RSA, RSA1024_FP, rsa1024_pub },
	{ rsa1024_rfc4716, KEY_TYPE_RSA, RSA1024_FP, rsa1024_pub },
	{ rsa1024_spki, KEY_TYPE_RSA, RSA1024_FP, rsa1024_pub },
	{ rsa1024_pkcs1, KEY_TYPE_RSA, RSA1024_FP, rsa1024_pub },
	{ rsa1024_b64der, KEY_TYPE_RSA, RSA1024_FP, rsa1024_pub },
	{ rsa2048_pub, KEY_TYPE_RSA, RSA2048_FP, rsa2048_pub },
	{ rsa2048_rfc4716, KEY_TYPE_RSA, RSA2048_FP, rsa2048_pub },
	{ rsa2048_spki, KEY_TYPE_RSA, RSA2048_FP, rsa2048_pub },
	{ rsa2048_pkcs1, KEY_TYPE_RSA, RSA2048_FP, rsa2048_pub },
	{ rsa2048_b64der, KEY_TYPE_RSA, RSA2048_FP, rsa2048_pub },
	{ rsa4096_pub, KEY_TYPE_RSA, RSA4096_FP, rsa4096_pub },
	{ rsa4096_rfc4716, KEY_TYPE_RSA, RSA4096_FP, rsa4096_pub },
	{ rsa4096_spki, KEY_TYPE_RSA, RSA4096_FP, rsa4096_pub },
	{ ed_pub, KEY_TYPE_ED25519, ED_FP, ed_pub },
	{ ed_rfc4716, KEY_TYPE_ED25519, ED_FP, ed_pub },
	{ ed_spki, KEY_TYPE_ED25519, ED_FP, ed_pub },
	{ ed_b64der, KEY_TYPE_ED25519, ED_FP, ed_pub },
};

static void test_import_vectors(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		size_t n = strlen(v->material);
		char *crlf = replace_all(v->material, "\n", "\r\n");
		char *padded = xmalloc(n + 16);
		char *bare = xstrndup(v->material, n - 1); /* no final newline */

		int r = snprintf(padded, n + 16, "\n \t%s \r\n\n\t ", v->material);

		assert_true(r > 0 && (size_t)r < n + 16);
		expect_ok(v->material, v->type, v->fp, v->pub);
		expect_ok(crlf, v->type, v->fp, v->pub);
		expect_ok(padded, v->type, v->fp, v->pub);
		expect_ok(bare, v->type, v->fp, v->pub);
		free(crlf);
		free(padded);
		free(bare);
	}
}

static void test_import_openssh_variants(void **state)
{
	char *key = openssh_of(ed_pub), *line;
	struct buf b = BUF_INIT;

	expect_ok(key, KEY_TYPE_ED25519, ED_FP, ed_pub);
	line = replace_all(key, " ", "\t \t");
	expect_ok(line, KEY_TYPE_ED25519, ED_FP, ed_pub);
	free(line);
	buf_printf(&b, "%s a comment with  spaces, \"quotes\" and UTF-8 \xc3\xa9\n", key);
	expect_ok(b.data, KEY_TYPE_ED25519, ED_FP, ed_pub);
	buf_free(&b);
	free(key);
}

static void test_import_rfc4716_headers(void **state)
{
	static const char hdrs[] =
		"---- BEGIN SSH2 PUBLIC KEY ----\n"
		"Subject: root\n"
		"Comment: \"a comment long enough to need a continuation \\\n"
		"line, and another \\\n"
		"one: with a colon\"\n"
		"x-private-tag: value\n"
		"AAAAC3NzaC1lZDI1NTE5\n"
		"\n"
		"AAAAIHLTLtT5kB5z1hMlLER+05Ala6AyjK6a0UMLWq+rejj0\n"
		"---- END SSH2 PUBLIC KEY ----\n";
	static const char no_hdrs[] =
		"---- BEGIN SSH2 PUBLIC KEY ----\n"
		"AAAAC3NzaC1lZDI1NTE5AAAAIHLTLtT5kB5z1hMlLER+05Ala6AyjK6a0UMLWq+rejj0\n"
		"---- END SSH2 PUBLIC KEY ----";

	expect_ok(hdrs, KEY_TYPE_ED25519, ED_FP, ed_pub);
	expect_ok(no_hdrs, KEY_TYPE_ED25519, ED_FP, ed_pub);
}

/* ---- rejections ---- */

static void test_reject_unsupported(void **state)
{
	expect_reject(ecdsa_pub, "ECDSA");
	expect_reject(ecdsa_spki, "ECDSA");
	expect_reject(dsa_pub, "DSA");
	expect_reject(dsa_spki, "DSA");
	expect_reject(rsa512_pub, "minimum is 1024");
	expect_reject(rsa512_spki, "minimum is 1024");
	expect_reject(rsapss_spki, NULL);
	expect_reject(ed448_spki, NULL);
	expect_reject("ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20=",
		      "certificates");
	expect_reject("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "FIDO");
	expect_reject("no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHLTLtT5kB5z1hMlLER+05Ala6AyjK6a0UMLWq+rejj0",
		      "Unsupported key type");
	expect_reject("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n", "Private");
	expect_reject("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n",
		      "Private");
	expect_reject("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nP2/56w==\n"
		      "---- END SSH2 ENCRYPTED PRIVATE KEY ----\n", "Private");
}

/* SSH wire blobs built by hand, for the cases no tool will produce. */
struct blob {
	unsigned char d[4200];
	size_t n;
};

static void b_u32(struct blob *b, uint32_t v)
{
	assert_true(b->n + 4 <= sizeof(b->d));
	b->d[b->n++] = (unsigned char)(v >> 24);
	b->d[b->n++] = (unsigned char)(v >> 16);
	b->d[b->n++] = (unsigned char)(v >> 8);
	b->d[b->n++] = (unsigned char)v;
}

static void b_raw(struct blob *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void b_str(struct blob *b, const void *p, size_t n)
{
	b_u32(b, (uint32_t)n);
	b_raw(b, p, n);
}

static void b_cstr(struct blob *b, const char *s)
{
	b_str(b, s, strlen(s));
}

/* A positive mpint from a magnitude without leading zeros. */
static void b_mpint(struct blob *b, const unsigned char *mag, size_t n)
{
	int pad = n && (mag[0] & 0x80);

	b_u32(b, (uint32_t)(n + (size_t)pad));
	if (pad)
		b_raw(b, "", 1);
	b_raw(b, mag, n);
}

/* An odd modulus-shaped number of exactly bits bits (not a real modulus:
 * nothing here needs one). */
static size_t fake_n(unsigned char *out, size_t bits)
{
	size_t n = (bits + 7) / 8;

	memset(out, 0x5a, n);
	out[0] = (unsigned char)(1u << ((bits - 1) % 8));
	out[n - 1] |= 1;
	return n;
}

static const unsigned char e65537[] = { 1, 0, 1 };

static void rsa_blob(struct blob *b, const unsigned char *e, size_t elen, size_t bits)
{
	unsigned char n[2100];
	size_t nlen = fake_n(n, bits);

	b->n = 0;
	b_cstr(b, "ssh-rsa");
	b_mpint(b, e, elen);
	b_mpint(b, n, nlen);
}

static char *line_of(const char *type, const struct blob *b)
{
	char *b64 = base64_encode(b->d, b->n);
	struct buf l = BUF_INIT;

	buf_printf(&l, "%s %s", type, b64);
	free(b64);
	return buf_steal(&l);
}

static void expect_blob_reject(const char *type, const struct blob *b, const char *why_part)
{
	char *l = line_of(type, b);

	expect_reject(l, why_part);
	free(l);
}

static void expect_blob_ok(const char *type, const struct blob *b, enum key_type kt)
{
	char *l = line_of(type, b);
	struct imp r;

	do_import(l, strlen(l), &r);
	if (r.ret)
		print_error("import failed: %s\n", r.why);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.type, kt);
	/* Canonical input comes back unchanged. */
	assert_string_equal(r.pub, l);
	free(r.pub);
	free(l);
}

static void test_reject_bad_blobs(void **state)
{
	static const unsigned char e1[] = { 1 }, e2[] = { 2 }, e_neg[] = { 0x81, 1 };
	static const unsigned char e_lead0[] = { 0, 1, 0, 1 };
	unsigned char ed[33] = { 0 }, n[300];
	struct blob b = { .n = 0 };
	size_t nlen;

	rsa_blob(&b, e65537, 3, 1024);
	expect_blob_ok("ssh-rsa", &b, KEY_TYPE_RSA);
	rsa_blob(&b, e65537, 3, 16384);
	expect_blob_ok("ssh-rsa", &b, KEY_TYPE_RSA);
	rsa_blob(&b, e65537, 3, 16385);
	expect_blob_reject("ssh-rsa", &b, "larger than 16384");
	rsa_blob(&b, e65537, 3, 1023);
	expect_blob_reject("ssh-rsa", &b, "1023 bits");
	rsa_blob(&b, e65537, 3, 512);
	expect_blob_reject("ssh-rsa", &b, "512 bits");
	rsa_blob(&b, e1, 1, 2048);
	expect_blob_reject("ssh-rsa", &b, "exponent");
	rsa_blob(&b, e2, 1, 2048);
	expect_blob_reject("ssh-rsa", &b, "exponent");

	/* e equal to n */
	nlen = fake_n(n, 2048);
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_mpint(&b, n, nlen);
	b_mpint(&b, n, nlen);
	expect_blob_reject("ssh-rsa", &b, "exponent");

	/* even modulus */
	n[nlen - 1] &= 0xfe;
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_mpint(&b, e65537, 3);
	b_mpint(&b, n, nlen);
	expect_blob_reject("ssh-rsa", &b, "modulus");
	n[nlen - 1] |= 1;

	/* negative e: no sign byte before a set top bit */
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_str(&b, e_neg, sizeof(e_neg));
	b_mpint(&b, n, nlen);
	expect_blob_reject("ssh-rsa", &b, "malformed");

	/* non-minimal mpint, and an empty one */
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_str(&b, e_lead0, sizeof(e_lead0));
	b_mpint(&b, n, nlen);
	expect_blob_reject("ssh-rsa", &b, "malformed");
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_str(&b, "", 0);
	b_mpint(&b, n, nlen);
	expect_blob_reject("ssh-rsa", &b, "malformed");

	/* trailing garbage inside the blob */
	rsa_blob(&b, e65537, 3, 2048);
	b_raw(&b, "", 1);
	expect_blob_reject("ssh-rsa", &b, "trailing");

	/* the type string says ssh-rsa, the contents are an ed25519 key */
	b.n = 0;
	b_cstr(&b, "ssh-rsa");
	b_str(&b, ed, 32);
	expect_blob_reject("ssh-rsa", &b, NULL);

	/* line and blob disagree on the type */
	b.n = 0;
	b_cstr(&b, "ssh-ed25519");
	b_str(&b, ed, 32);
	expect_blob_ok("ssh-ed25519", &b, KEY_TYPE_ED25519);
	expect_blob_reject("ssh-rsa", &b, "does not match");
	rsa_blob(&b, e65537, 3, 2048);
	expect_blob_reject("ssh-ed25519", &b, "does not match");

	/* ed25519 keys of the wrong size, or with trailing data */
	b.n = 0;
	b_cstr(&b, "ssh-ed25519");
	b_str(&b, ed, 31);
	expect_blob_reject("ssh-ed25519", &b, "malformed");
	b.n = 0;
	b_cstr(&b, "ssh-ed25519");
	b_str(&b, ed, 33);
	expect_blob_reject("ssh-ed25519", &b, "malformed");
	b.n = 0;
	b_cstr(&b, "ssh-ed25519");
	b_str(&b, ed, 32);
	b_u32(&b, 0);
	expect_blob_reject("ssh-ed25519", &b, "trailing");

	/* lengths that point past the end */
	b.n = 0;
	b_u32(&b, 0xffffffff);
	b_raw(&b, "ssh-rsa", 7);
	expect_blob_reject("ssh-rsa", &b, NULL);
	b.n = 0;
	b_cstr(&b, "ssh-ed25519");
	b_u32(&b, 0xffffffe0);
	b_raw(&b, ed, 32);
	expect_blob_reject("ssh-ed25519", &b, NULL);
}

/* Every proper prefix of a valid blob or DER key must be refused. */
static void test_reject_truncated(void **state)
{
	static const char *const lines[] = { rsa2048_pub, ed_pub };
	unsigned char *der;
	size_t dlen;

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		char *key = openssh_of(lines[i]);
		char *sp = strchr(key, ' ');
		unsigned char *blob;
		size_t len;

		*sp = '\0';
		assert_int_equal(base64_decode(sp + 1, strlen(sp + 1), &blob, &len), 0);
		for (size_t l = 0; l < len; l++) {
			char *b64 = base64_encode(blob, l);
			struct buf t = BUF_INIT;

			buf_printf(&t, "%s %s", key, b64);
			expect_reject(t.data, NULL);
			buf_reset(&t);
			buf_printf(&t, "---- BEGIN SSH2 PUBLIC KEY ----\n%s\n---- END SSH2 PUBLIC KEY ----\n",
				   b64);
			expect_reject(t.data, NULL);
			buf_free(&t);
			free(b64);
		}
		free(blob);
		free(key);
	}

	assert_int_equal(base64_decode(rsa2048_b64der, strlen(rsa2048_b64der), &der, &dlen), 0);
	for (size_t l = 0; l < dlen; l++) {
		char *b64 = base64_encode(der, l);
		struct buf t = BUF_INIT;

		expect_reject(b64, NULL);
		buf_printf(&t, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
		expect_reject(t.data, NULL);
		buf_free(&t);
		free(b64);
	}
	free(der);
}

static void test_reject_garbage(void **state)
{
	static const char *const bad[] = {
		"   \r\n\t\n",
		"hello",
		"hello world",
		"ssh-rsa",
		"ssh-rsa ",
		"ssh-rsa !!!!",
		"ssh-rsa AAAA",
		"ssh-ed25519 ====",
		"-----BEGIN PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----",
		"-----BEGIN -----",
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\n---- END SSH2 PUBLIC KEY ----\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\nComment: x\\\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\n: empty tag\n---- END SSH2 PUBLIC KEY ----\n",
		"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
	};
	char *s, big[70000];
	struct buf b = BUF_INIT;
	unsigned char *der;
	size_t dlen;
	uint32_t x = 12345;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_reject(bad[i], NULL);
	expect_reject_n("", 0, "empty");
	expect_reject_n(NULL, 0, "empty");
	expect_reject("\n\r\n", "empty");
	expect_reject("ssh-rsa \x01", "control");
	memset(big, 'A', sizeof(big));
	expect_reject_n(big, sizeof(big), "too large");

	/* Embedded NULs anywhere: type, base64, comment, trailing. */
	for (size_t at = 0; at < strlen(rsa2048_pub); at += 37) {
		char *m = xstrdup(rsa2048_pub);

		m[at] = '\0';
		expect_reject_n(m, strlen(rsa2048_pub), "NUL");
		free(m);
	}
	expect_reject_n(ed_pub, strlen(ed_pub) + 1, "NUL");

	/* Two keys; data after END; mismatched END; header inside the body. */
	buf_printf(&b, "%s%s", rsa1024_pub, ed_pub);
	expect_reject(b.data, "one line");
	buf_reset(&b);
	buf_printf(&b, "%sjunk\n", rsa1024_spki);
	expect_reject(b.data, "after the end");
	buf_reset(&b);
	buf_printf(&b, "%sjunk\n", ed_rfc4716);
	expect_reject(b.data, "after the end");
	s = replace_all(rsa1024_spki, "END PUBLIC", "END RSA PUBLIC");
	expect_reject(s, NULL);
	free(s);
	s = replace_all(ed_rfc4716, "\"\nAAAA", "\"\nAAAA\nComment: late\n");
	expect_reject(s, NULL);
	free(s);
	/* PKCS#1 under the SPKI label and the other way round. */
	s = replace_all(rsa1024_pkcs1, "RSA PUBLIC", "PUBLIC");
	expect_reject(s, NULL);
	free(s);
	s = replace_all(rsa1024_spki, "PUBLIC", "RSA PUBLIC");
	expect_reject(s, NULL);
	free(s);

	/* DER with a trailing byte. */
	assert_int_equal(base64_decode(ed_b64der, strlen(ed_b64der), &der, &dlen), 0);
	der = realloc(der, dlen + 1);
	assert_non_null(der);
	der[dlen] = 0;
	s = base64_encode(der, dlen + 1);
	expect_reject(s, "trailing");
	free(s);
	free(der);

	/* Printable noise. */
	for (int i = 0; i < 2000; i++) {
		char noise[300];
		size_t n;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		n = x % sizeof(noise);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			noise[k] = (char)(' ' + x % 95);
		}
		expect_reject_n(noise, n, NULL);
	}
	buf_free(&b);
}

/* ---- created keys, checked with the real tools ---- */

/* Runs argv (searched on PATH) and captures stdout; returns the exit status. */
static int run(char *const argv[], char *out, size_t outsz)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	size_t len = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (len + 1 < outsz && (r = read(fds[0], out + len, outsz - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct tmp {
	char dir[64];
	char key[96];
	char der[96];
};

static void tmp_write(struct tmp *t, const char *data)
{
	int fd, r;

	r = snprintf(t->dir, sizeof(t->dir), "/tmp/test_keycrypto.XXXXXX");
	assert_true(r > 0 && (size_t)r < sizeof(t->dir));
	assert_non_null(mkdtemp(t->dir));
	r = snprintf(t->key, sizeof(t->key), "%s/key", t->dir);
	assert_true(r > 0 && (size_t)r < sizeof(t->key));
	r = snprintf(t->der, sizeof(t->der), "%s/key.der", t->dir);
	assert_true(r > 0 && (size_t)r < sizeof(t->der));
	/* ssh-keygen refuses private keys others can read. */
	fd = open(t->key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void tmp_remove(struct tmp *t)
{
	unlink(t->key);
	unlink(t->der);
	rmdir(t->dir);
}

static void chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

static void test_create_rsa(void **state)
{
	char out[4096], want[KEY_FINGERPRINT_MAX], *eq;
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	struct key_created k;
	PKCS8_PRIV_KEY_INFO *p8;
	struct tmp t;
	EVP_PKEY *pkey;
	unsigned mdlen;
	struct imp r;
	BIO *bio;
	int dlen;

	assert_int_equal(keycrypto_create(KEY_TYPE_RSA, &k), 0);
	assert_true(strncmp(k.private_key, "-----BEGIN RSA PRIVATE KEY-----\n", 32) == 0);
	assert_non_null(strstr(k.private_key, "\n-----END RSA PRIVATE KEY-----\n"));
	assert_true(strncmp(k.public_openssh, "ssh-rsa AAAA", 12) == 0);

	bio = BIO_new_mem_buf(k.private_key, -1);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_is_a(pkey, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(pkey), 2048);

	/* SHA-1 of the PKCS#8 DER, recomputed here... */
	p8 = EVP_PKEY2PKCS8(pkey);
	assert_non_null(p8);
	dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	assert_true(dlen > 0);
	assert_int_equal(EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_sha1(), NULL), 1);
	hex_colon_encode(md, mdlen, want);
	assert_string_equal(k.fingerprint, want);
	OPENSSL_clear_free(der, (size_t)dlen);
	PKCS8_PRIV_KEY_INFO_free(p8);

	/* ...and by the openssl CLI, as EC2 documents it. */
	tmp_write(&t, k.private_key);
	{
		char *p8_argv[] = { "openssl", "pkcs8", "-topk8", "-nocrypt", "-in", t.key,
				    "-outform", "DER", "-out", t.der, NULL };
		char *sha_argv[] = { "openssl", "sha1", "-c", t.der, NULL };

		assert_int_equal(run(p8_argv, out, sizeof(out)), 0);
		assert_int_equal(run(sha_argv, out, sizeof(out)), 0);
	}
	chomp(out);
	eq = strstr(out, "= ");
	assert_non_null(eq);
	assert_string_equal(eq + 2, k.fingerprint);

	/* ssh-keygen derives the same public key from the PEM. */
	{
		char *y_argv[] = { "ssh-keygen", "-y", "-f", t.key, NULL };

		assert_int_equal(run(y_argv, out, sizeof(out)), 0);
	}
	chomp(out);
	assert_string_equal(out, k.public_openssh);
	tmp_remove(&t);

	/* Importing the public half gives EC2's import fingerprint (MD5 of SPKI). */
	der = NULL;
	dlen = i2d_PUBKEY(pkey, &der);
	assert_true(dlen > 0);
	assert_int_equal(EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_md5(), NULL), 1);
	hex_colon_encode(md, mdlen, want);
	OPENSSL_free(der);
	do_import(k.public_openssh, strlen(k.public_openssh), &r);
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.fp, want);
	assert_string_equal(r.pub, k.public_openssh);
	free(r.pub);

	EVP_PKEY_free(pkey);
	keycrypto_created_free(&k);
	assert_null(k.private_key);
	keycrypto_created_free(&k);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks the openssh-key-v1 layout beyond what ssh-keygen insists on. */
static void check_openssh_layout(const char *pem, const char *openssh)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
	static const char end[] = "-----END OPENSSH PRIVATE KEY-----\n";
	/* magic with its NUL, cipher "none", kdf "none", empty kdf options, 1 key */
	static const char head[] = "openssh-key-v1\0\0\0\0\4none\0\0\0\4none\0\0\0\0\0\0\0\1";
	const char *body = pem + strlen(begin), *endp = strstr(pem, end), *b64;
	unsigned char *raw, *pubblob, *p, *priv;
	size_t len, publen, privlen;

	assert_true(strncmp(pem, begin, strlen(begin)) == 0);
	assert_non_null(endp);
	assert_string_equal(endp, end);
	for (const char *l = body; l < endp; l = strchr(l, '\n') + 1)
		assert_true(strcspn(l, "\n") <= 70);
	assert_int_equal(base64_decode(body, (size_t)(endp - body), &raw, &len), 0);
	b64 = strchr(openssh, ' ') + 1;
	assert_int_equal(base64_decode(b64, strlen(b64), &pubblob, &publen), 0);

	assert_true(len > sizeof(head) - 1 + 4 + publen + 4);
	assert_memory_equal(raw, head, sizeof(head) - 1);
	p = raw + sizeof(head) - 1;
	assert_int_equal(get_u32(p), publen);
	assert_memory_equal(p + 4, pubblob, publen);
	p += 4 + publen;
	privlen = get_u32(p);
	priv = p + 4;
	assert_int_equal(priv + privlen, raw + len);
	assert_int_equal(privlen % 8, 0);
	assert_int_equal(get_u32(priv), get_u32(priv + 4)); /* check ints */
	p = priv + 8;
	assert_memory_equal(p, pubblob, publen); /* type and public key again */
	p += publen;
	assert_int_equal(get_u32(p), 64); /* seed || public key */
	assert_memory_equal(p + 4 + 32, pubblob + publen - 32, 32);
	p += 4 + 64;
	assert_int_equal(get_u32(p), 0); /* empty comment */
	p += 4;
	assert_true(priv + privlen - p < 8);
	for (unsigned char i = 1; p < priv + privlen; i++, p++)
		assert_int_equal(*p, i);
	free(pubblob);
	free(raw);
}

static void test_create_ed25519(void **state)
{
	char out[4096], *sha, *fp;
	struct key_created k, k2;
	struct tmp t;
	struct imp r;

	assert_int_equal(keycrypto_create(KEY_TYPE_ED25519, &k), 0);
	assert_true(strncmp(k.public_openssh, "ssh-ed25519 AAAA", 16) == 0);
	assert_int_equal(strlen(k.fingerprint), 44);
	assert_int_equal(k.fingerprint[43], '=');
	check_openssh_layout(k.private_key, k.public_openssh);

	tmp_write(&t, k.private_key);
	{
		char *y_argv[] = { "ssh-keygen", "-y", "-f", t.key, NULL };

		assert_int_equal(run(y_argv, out, sizeof(out)), 0);
	}
	chomp(out);
	assert_string_equal(out, k.public_openssh);

	/* "256 SHA256:<digest> no comment (ED25519)": EC2's value minus '='. */
	{
		char *l_argv[] = { "ssh-keygen", "-l", "-E", "sha256", "-f", t.key, NULL };

		assert_int_equal(run(l_argv, out, sizeof(out)), 0);
	}
	sha = strstr(out, "SHA256:");
	assert_non_null(sha);
	sha += 7;
	sha[strcspn(sha, " ")] = '\0';
	fp = xstrndup(k.fingerprint, 43);
	assert_string_equal(sha, fp);
	free(fp);
	tmp_remove(&t);

	do_import(k.public_openssh, strlen(k.public_openssh), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.type, KEY_TYPE_ED25519);
	assert_string_equal(r.fp, k.fingerprint);
	free(r.pub);

	assert_int_equal(keycrypto_create(KEY_TYPE_ED25519, &k2), 0);
	assert_string_not_equal(k.public_openssh, k2.public_openssh);
	keycrypto_created_free(&k2);
	keycrypto_created_free(&k);
}

static void test_create_bad_type(void **state)
{
	struct key_created k;

	assert_int_equal(keycrypto_create((enum key_type)42, &k), -EINVAL);
	assert_null(k.private_key);
	assert_null(k.public_openssh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_vectors),
		cmocka_unit_test(test_import_openssh_variants),
		cmocka_unit_test(test_import_rfc4716_headers),
		cmocka_unit_test(test_reject_unsupported),
		cmocka_unit_test(test_reject_bad_blobs),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_garbage),
		cmocka_unit_test(test_create_rsa),
		cmocka_unit_test(test_create_ed25519),
		cmocka_unit_test(test_create_bad_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
