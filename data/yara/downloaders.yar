/* kansoku: downloaders and droppers. A downloader fetches the next stage and runs it; a
 * dropper carries it inside. */

rule pe_downloader_imports : downloader
{
    meta:
        description = "Windows executable that imports a URL download API and a way to run a program"
        author = "kansoku"
    strings:
        $dl1 = "URLDownloadToFileA" ascii
        $dl2 = "URLDownloadToFileW" ascii
        $dl3 = "InternetOpenUrlA" ascii
        $dl4 = "InternetOpenUrlW" ascii
        $dl5 = "WinHttpOpenRequest" ascii
        $run1 = "WinExec" ascii
        $run2 = "ShellExecuteA" ascii
        $run3 = "ShellExecuteW" ascii
        $run4 = "CreateProcessA" ascii
        $run5 = "CreateProcessW" ascii
    condition:
        uint16(0) == 0x5A4D and any of ($dl*) and any of ($run*)
}

rule shell_downloader : downloader
{
    meta:
        description = "Shell script that fetches a file, makes it executable and runs it (IoT droppers)"
        author = "kansoku"
    strings:
        $get1 = "wget " ascii
        $get2 = "curl " ascii
        $get3 = "tftp " ascii
        $get4 = "busybox wget" ascii
        $chmod1 = "chmod +x" ascii
        $chmod2 = "chmod 777" ascii
        $chmod3 = "chmod 755" ascii
    condition:
        uint16(0) == 0x2123 and any of ($get*) and any of ($chmod*)
}

rule embedded_pe_dropper : dropper
{
    meta:
        description = "Executable carrying a second executable, with the APIs to write it out"
        author = "kansoku"
    strings:
        $stub = "This program cannot be run in DOS mode" ascii
        $w1 = "WriteFile" ascii
        $w2 = "CreateFileA" ascii
        $w3 = "CreateFileW" ascii
        $r1 = "FindResourceA" ascii
        $r2 = "LoadResource" ascii
    condition:
        uint16(0) == 0x5A4D and #stub >= 2 and @stub[2] > 1024 and $w1 and
        any of ($w2, $w3) and any of ($r*)
}
