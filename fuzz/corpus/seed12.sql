/* nested /* comment */ still */ select 1 -- to end of line
; ;