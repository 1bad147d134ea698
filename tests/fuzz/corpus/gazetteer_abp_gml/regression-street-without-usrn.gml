<?xml version="1.0" encoding="UTF-8"?>
<abpr:FeatureCollection xmlns:abpr="http://namespaces.geoplace.co.uk/addressbasepremium/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">
 <abpr:member>
  <abpr:Street gml:id="s1">
</abpr:Street>   <abpr:changeType>I</abpr:changeType>
   <abpr:usrn>20000001</abpr:usrn>
   <abpr:recordType>1</abpr:recordType>
   <abpr:streetDescriptorMember>
    <abpr:StreetDescriptiveIdentifie<?xml version="1.0" encoding="UTF-8"?>
<abpr:FeatureCollection xmlns:abpr="http://namespaces.geoplace.co.uk/addrr>
     <abpr:streetDescription>HIGH STREET</abpr:streetDescription>
     <abpr:townName>ST ALBANS</abpr:townName>
     <abpessbasepremium/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">
 <abpr:member>
  <abpr:Street gml:id="s1">
   <abpr:changeTyr:administrativeArea>ST ALBANS</abpr:administrativeArea>
     <abpr:language>ENG</abpr:language>
    </abpr:Strepe>I</a