#include <libxml/xmlversion.h>
/* libxml2's ICU headers clash with the ICU copy inside Swift's Foundation; nothing here uses them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/relaxng.h>
#include <libxml/xmlsave.h>
