/* kansoku: packer hints. A packed executable hides its code until it runs; that alone is not
 * malice, but it is the first thing an analyst wants to know. */

rule upx_packed : packed
{
    meta:
        description = "Executable packed with UPX (section names or the UPX! pack header)"
        author = "kansoku"
    strings:
        $sec0 = "UPX0" ascii
        $sec1 = "UPX1" ascii
        $hdr = "UPX!" ascii
    condition:
        (uint16(0) == 0x5A4D or uint32(0) == 0x464C457F) and
        ((($sec0 in (0..1024)) and ($sec1 in (0..1024))) or $hdr in (0..4096))
}
