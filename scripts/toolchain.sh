# Sourced by every script: build and test with go.mod's toolchain line
# (go1.27.3), whose standard library has the fixes for the net/http,
# crypto/tls, crypto/x509, html/template and net/textproto vulnerabilities
# that Go 1.26.8 has and our code reaches (scripts/vulncheck). With
# GOTOOLCHAIN=auto, Go's upstream default, an older go command fetches that
# release from the module proxy once (~76 MB) and runs it; machine images that
# set GOTOOLCHAIN=local would ignore the line, hence the export. A local Go
# newer than the line is used as it is.
export GOTOOLCHAIN=auto
