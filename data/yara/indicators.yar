/* kansoku: indicators. These rules give no type tag; their strings named $url* and $cnc*
 * are stored as distribution URLs and C&C addresses of the sample (sample_iocs). */

rule url_in_executable
{
    meta:
        description = "HTTP/FTP URLs inside an executable or script: where it fetches from"
        author = "kansoku"
    strings:
        $url_http = /(https?|ftp):\/\/[a-zA-Z0-9][a-zA-Z0-9.\-]{0,252}(:[0-9]{1,5})?\/[a-zA-Z0-9_.~%\/?=&+\-]{0,200}/ ascii
    condition:
        (uint16(0) == 0x5A4D or uint32(0) == 0x464C457F or uint16(0) == 0x2123) and $url_http
}
