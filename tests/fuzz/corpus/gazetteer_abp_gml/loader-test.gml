<?xml version="1.0" encoding="UTF-8"?>
<abpr:FeatureCollection xmlns:abpr="http://namespaces.geoplace.co.uk/addressbasepremium/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">
 <abpr:member>
  <abpr:Street gml:id="s1">
   <abpr:changeType>I</abpr:changeType>
   <abpr:usrn>20000001</abpr:usrn>
   <abpr:recordType>1</abpr:recordType>
   <abpr:streetDescriptorMember>
    <abpr:StreetDescriptiveIdentifier>
     <abpr:streetDescription>HIGH STREET</abpr:streetDescription>
     <abpr:townName>ST ALBANS</abpr:townName>
     <abpr:administrativeArea>ST ALBANS</abpr:administrativeArea>
     <abpr:language>ENG</abpr:language>
    </abpr:StreetDescriptiveIdentifier>
   </abpr:streetDescriptorMember>
  </abpr:Street>
 </abpr:member>
 <abpr:member>
  <abpr:BasicLandPropertyUnit gml:id="b1">
   <abpr:changeType>I</abpr:changeType>
   <abpr:uprn>100</abpr:uprn>
   <abpr:logicalStatus>1</abpr:logicalStatus>
   <abpr:position><gml:Point srsName="urn:ogc:def:crs:EPSG::27700"><gml:pos>514800.00 207300.00</gml:pos></gml:Point></abpr:position>
   <abpr:positionLatLong><gml:Point srsName="urn:ogc:def:crs:EPSG::4258"><gml:pos>51.75 -0.34</gml:pos></gml:Point></abpr:positionLatLong>
   <abpr:localCustodianCode>1930</abpr:localCustodianCode>
   <abpr:postcodeLocator>AL1 3EX</abpr:postcodeLocator>
   <abpr:landPropertyIdentifierMember>
    <abpr:LandPropertyIdentifier>
     <abpr:lpiKey>1930L100</abpr:lpiKey>
     <abpr:language>ENG</abpr:language>
     <abpr:logicalStatus>1</abpr:logicalStatus>
     <abpr:paoStartNumber>12</abpr:paoStartNumber>
     <abpr:paoText>THE OLD BANK</abpr:paoText>
     <abpr:usrn>20000001</abpr:usrn>
    </abpr:LandPropertyIdentifier>
   </abpr:landPropertyIdentifierMember>
   <abpr:classificationMember><abpr:Classification><abpr:classificationCode>RD04</abpr:classificationCode></abpr:Classification></abpr:classificationMember>
  </abpr:BasicLandPropertyUnit>
 </abpr:member>
 <abpr:member>
  <abpr:BasicLandPropertyUnit gml:id="b2">
   <abpr:uprn>notanumber</abpr:uprn>
  </abpr:BasicLandPropertyUnit>
 </abpr:member>
</abpr:FeatureCollection>
