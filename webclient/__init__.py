"""Web clients of Mango ISP: the staff app (``webclient.staff``) and the helpers they share."""
