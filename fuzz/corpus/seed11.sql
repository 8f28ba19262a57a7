select 'a'
  -- comment
 'b', B'1010', X'1F', N'x', $tag$ a $other$ b $other$ $tag$