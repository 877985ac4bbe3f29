"""Portal screens: the patient's intake under /p/<token>/ (:mod:`.patient`) and the staff side under /portal/
(:mod:`.staff`)."""
