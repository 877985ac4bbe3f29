"""KetaClinic: an open-source clinical system for ketamine and esketamine therapy programmes."""
