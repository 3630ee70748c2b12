# sio_install_pkgconfig(<sio.pc.in>): installs sio.pc into
# ${CMAKE_INSTALL_LIBDIR}/pkgconfig.
#
# The file is written at install time, so that its prefix is the one given
# then (cmake --install <build> --prefix <dir>), not only the configure-time
# CMAKE_INSTALL_PREFIX: everything but @SIO_PC_PREFIX@ is substituted now, the
# prefix by the install script.
function(sio_install_pkgconfig template)
  foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
      set(SIO_PC_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
      set(SIO_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
  endforeach()
  set(SIO_PC_PREFIX "@SIO_PC_PREFIX@") # kept for the second pass
  set(stage "${CMAKE_CURRENT_BINARY_DIR}/sio.pc.stage")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/sio.pc")
  configure_file("${template}" "${stage}" @ONLY)
  install(CODE "set(SIO_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
configure_file(\"${stage}\" \"${out}\" @ONLY)" COMPONENT dev)
  install(FILES "${out}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT dev)
endfunction()
