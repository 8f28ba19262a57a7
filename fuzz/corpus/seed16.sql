select $1 from t where id=-5 and x=>5 and y=/*c*/$2 and z<>--c
3 and "Q""x" = U&'\+01F600'