SUMMARY = "wellgate gateway stack and the tools a field technician uses on it"
DESCRIPTION = "The wellgate daemons and CLI, with sqlite3 to look into the historian \
               and event databases over a serial console or SSH."

inherit packagegroup

# packagegroup.bbclass makes ${PN} the one package of this recipe.
RDEPENDS:${PN} = "\
    sqlite3 \
    tzdata \
    wellgate \
"
