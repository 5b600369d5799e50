/* libxcrypt: the password hashes a Debian 12 guest writes into /etc/shadow (yescrypt), made on the host. */
#include <crypt.h>
