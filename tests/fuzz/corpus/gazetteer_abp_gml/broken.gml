<?xml version="1.0"?>
<a>
<b>
</a>
